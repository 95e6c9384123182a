from ptalker.cli import main

raise SystemExit(main())
