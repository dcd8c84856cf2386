from searchbot.cli import main

raise SystemExit(main())
