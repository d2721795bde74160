"""``python -m geoctx.replicate CITED_DIR RERUN_DIR``."""

from geoctx.replicate import main

raise SystemExit(main())
