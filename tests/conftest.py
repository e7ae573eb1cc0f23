"""Test-suite root. `tests/` and each of its folders are packages (one folder per source package, mirroring
`src/lpcore/`), so helpers are imported by their full name (`from tests.pm.helpers import Node`) and pytest's
rootdir insertion is the only sys.path change."""
