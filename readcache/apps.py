from django.apps import AppConfig


class ReadcacheConfig(AppConfig):
    name = "readcache"
    verbose_name = "Read cache"
