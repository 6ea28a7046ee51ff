"""The core library runs without the [dask] extra: importing every module outside
widedeep.dask loads neither dask nor distributed."""
import subprocess
import sys

CHECK = """
import importlib, pathlib, sys
import widedeep
root = pathlib.Path(widedeep.__file__).parent
for path in sorted(root.rglob("*.py")):
    parts = path.relative_to(root.parent).with_suffix("").parts
    if parts[1:2] != ("dask",):
        importlib.import_module(".".join(p for p in parts if p != "__init__"))
print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
"""


def test_importing_the_core_loads_no_dask_module():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
