"""`ServerConfig`: everything ``widedeep serve`` is told, passed to each worker process.

``--workers N`` starts N server processes (uvicorn); each builds its app from the config
serialized in the environment variable ``WIDEDEEP_SERVE_CONFIG`` (`to_json`/`from_json`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .batching import BatchSettings
from .gate import GateSettings
from .limits import ServerLimits

__all__ = ["ServerConfig", "CONFIG_ENVIRONMENT_VARIABLE"]

CONFIG_ENVIRONMENT_VARIABLE = "WIDEDEEP_SERVE_CONFIG"


@dataclass(frozen=True)
class ServerConfig:
    """``model_base``: the folder of ``{name}/{version}/`` models; ``host`` 127.0.0.1 unless
    told otherwise; ``poll_seconds``: how often new versions are looked for (0: only at
    start and through the admin endpoint); ``enable_admin``: the ``/v1/admin/...``
    endpoints (off by default); ``ranker_threads``: each Ranker's sub-batch threads;
    ``pins``: ``{name: version}`` served regardless of newer versions; ``metrics_dir``:
    where worker processes share their metrics (`widedeep.server.metrics`; None: each
    process reports only its own, which is all there is with one worker); ``batching``:
    `BatchSettings` (request batching, `widedeep.server.batching`)."""
    model_base: str
    host: str = "127.0.0.1"
    port: int = 8501
    workers: int = 1
    poll_seconds: float = 2.0
    enable_admin: bool = False
    ranker_threads: int = 1
    pins: dict = field(default_factory=dict)
    limits: ServerLimits = field(default_factory=ServerLimits)
    gate: GateSettings = field(default_factory=GateSettings)
    metrics_dir: str | None = None
    batching: BatchSettings = field(default_factory=BatchSettings)

    def to_json(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        data["limits"] = ServerLimits(**data.get("limits", {}))
        data["gate"] = GateSettings(**data.get("gate", {}))
        data["batching"] = BatchSettings(**data.get("batching", {}))
        return cls(**data)
