"""The server tests need the ``serve`` extra; they skip cleanly without it."""
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
# Starlette 1.x announces a future move of its test client to httpx2; not our concern here
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
