"""`python -m user_svc` serves; `python -m user_svc migrate` creates and migrates its database."""

from common.cli import service_main
from user_svc.server import serve
from user_svc.settings import UserServiceSettings

service_main("user_svc", UserServiceSettings, serve=serve, migrations="user_svc:migrations")
