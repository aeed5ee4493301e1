"""Printers: model, IP address and print queue name

Template-owned: `copier update` keeps this file in step with the template. Put your code in the
author-owned modules it wires together: models.py (tables), api.py (routes), schemas.py, seeds.py.
"""
from app.plugins import BasePlugin


class PrintersPlugin(BasePlugin):
    """The hooks shopdb calls; see docs/PLUGIN-HOOKS.md in shopdb for when each runs."""

    def get_blueprint(self):
        # Imported here, not at module level, so importing the package never registers tables or routes.
        from .api import blp

        return blp

    def get_models(self):
        from .models import MODELS

        return MODELS

    def on_install(self):
        from .seeds import seed

        seed()

    def on_uninstall(self, drop_data):
        from .seeds import unseed

        unseed(drop_data)


plugin = PrintersPlugin()
