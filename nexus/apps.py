from django.apps import AppConfig
from django.db.models.signals import pre_save


class NexusConfig(AppConfig):
    name = "nexus"

    def ready(self):
        from nexus.storable import refuse_unstorable

        # Every model's rows, whoever saves them: see nexus.storable.
        pre_save.connect(refuse_unstorable, dispatch_uid="nexus.storable")
