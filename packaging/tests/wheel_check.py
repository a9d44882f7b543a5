"""Checks, inside the virtual environment, that `import mixcon` is the
package installed from the wheel: the venv does not see the system's
dist-packages, the module lives under the venv, and its version is the
project's.

Usage: wheel_check.py VERSION
"""
import os
import sys


def main():
    version = sys.argv[1]
    if sys.prefix == sys.base_prefix:
        sys.exit("not running in a virtual environment")
    leaks = [p for p in sys.path if p.rstrip("/").endswith("dist-packages")]
    if leaks:
        sys.exit("the system's dist-packages are on sys.path: %s" % leaks)

    import mixcon

    where = os.path.realpath(mixcon.__file__)
    if not where.startswith(os.path.realpath(sys.prefix) + os.sep):
        sys.exit("mixcon was imported from %s, not from the venv" % where)
    if mixcon.__version__ != version:
        sys.exit("mixcon.__version__ is %s, expected %s" % (mixcon.__version__, version))
    print("mixcon %s from %s" % (mixcon.__version__, os.path.dirname(where)))


if __name__ == "__main__":
    main()
