"""`python -m bench`: see bench/__init__.py and bench/README.md."""

from bench import main

raise SystemExit(main())
