"""`python -m template_svc` serves; `python -m template_svc migrate` creates and migrates its database."""

from common.cli import not_yet, service_main
from template_svc.settings import TemplateServiceSettings

service_main("template_svc", TemplateServiceSettings, serve=not_yet, migrations="template_svc:migrations")
