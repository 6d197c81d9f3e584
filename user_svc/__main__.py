"""`python -m user_svc` serves; `python -m user_svc migrate` creates and migrates its database."""

from common.cli import not_yet, service_main
from user_svc.settings import UserServiceSettings

service_main("user_svc", UserServiceSettings, serve=not_yet, migrations="user_svc:migrations")
