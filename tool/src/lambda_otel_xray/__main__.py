"""`python -m lambda_otel_xray` = `lambda-otel-xray`."""

from .cli import main

raise SystemExit(main())
