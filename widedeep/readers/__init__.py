"""Streaming readers: raw column batches from CSV/TSV files and in-memory columns, and
``(features, labels)`` batches from libsvm / libffm files.

Every reader is re-iterable (each ``iter()`` is a new pass, i.e. an epoch) and shuffles
reproducibly: with an int ``random_state`` pass ``k`` uses ``default_rng([seed, k])``.
"""
from .batching import batch_length, concat_batches, rebatch, slice_batch, take_batch
from .csv_reader import CsvReader
from .in_memory import ArrayReader, columns_from_dataframe, iter_batches
from .libsvm import LibffmReader, LibsvmReader
from .report import BadLine, BadLineError, ReadReport
from .shuffle import epoch_rng, shuffle_buffer

__all__ = ["CsvReader", "LibsvmReader", "LibffmReader", "ArrayReader", "iter_batches",
           "columns_from_dataframe", "BadLine", "BadLineError", "ReadReport",
           "shuffle_buffer", "epoch_rng", "batch_length", "concat_batches", "rebatch",
           "slice_batch", "take_batch"]
