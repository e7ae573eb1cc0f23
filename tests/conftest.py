"""Test-suite root: pytest puts this directory on sys.path, so test modules in sub-directories can import the
helpers kept here (`_shared`)."""
