"""`python -m template_svc` serves; `python -m template_svc migrate` creates and migrates its database."""

from common.cli import service_main
from template_svc.server import serve
from template_svc.settings import TemplateServiceSettings

service_main("template_svc", TemplateServiceSettings, serve=serve, migrations="template_svc:migrations")
