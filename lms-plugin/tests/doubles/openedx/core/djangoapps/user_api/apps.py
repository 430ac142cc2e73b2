from django.apps import AppConfig


class UserAPIConfig(AppConfig):
    name = "openedx.core.djangoapps.user_api"
    label = "user_api"
    default_auto_field = "django.db.models.AutoField"
