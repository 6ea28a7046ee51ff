"""The core library runs without the [dask] extra: importing every module outside
widedeep.dask loads neither dask nor distributed."""
import subprocess
import sys

CHECK = """
import pkgutil, importlib, sys
import widedeep
for module in pkgutil.walk_packages(widedeep.__path__, "widedeep."):
    if not module.name.startswith("widedeep.dask"):
        importlib.import_module(module.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
print(loaded)
"""


def test_importing_the_core_loads_no_dask_module():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
