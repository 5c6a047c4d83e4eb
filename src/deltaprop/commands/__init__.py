"""One module per subcommand of ``deltaprop``; each has ``add_arguments(parser)`` and ``run(args) -> int``."""
