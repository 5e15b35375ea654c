"""`python -m regioncodec` runs the rcodec command line."""

from .cli import main

raise SystemExit(main())
