from rusthook.cli import main

raise SystemExit(main())
