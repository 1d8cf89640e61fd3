"""`python -m bot`: the same as the `labelbot` command."""

from bot.cli import main

raise SystemExit(main())
