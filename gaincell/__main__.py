"""``python -m gaincell`` runs the ``gaincell`` command."""

from gaincell.cli import main

raise SystemExit(main())
