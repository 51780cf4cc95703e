from django.apps import AppConfig


class MoodsConfig(AppConfig):
    name = "moods"
    verbose_name = "Moods"

    def ready(self) -> None:
        # Connects the stream's listener to accounts' device_revoked signal.
        from moods.stream import revocation  # noqa: F401
