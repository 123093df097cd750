#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Without DJANGO_SETTINGS_MODULE it uses the development settings and says so on stderr (never silently):
set DJANGO_SETTINGS_MODULE=config.settings.production on a server.
"""

import os
import sys

DEVELOPMENT_SETTINGS = "config.settings.local"


def main() -> None:
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        os.environ["DJANGO_SETTINGS_MODULE"] = DEVELOPMENT_SETTINGS
        print(
            f"manage.py: DJANGO_SETTINGS_MODULE is not set; using the development settings ({DEVELOPMENT_SETTINGS}). "
            "Set DJANGO_SETTINGS_MODULE=config.settings.production on a server.",
            file=sys.stderr,
        )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
