from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Post-incident reviews"

    def ready(self) -> None:
        """Plug into the incidents app's hooks (incidents never imports reviews, DESIGN §2): open
        the PIR on restoration, guard closing on the PIR, feed repeat incidents by category."""
        from incidents import policy, signals
        from incidents import selectors as incident_selectors
        from reviews import selectors, services

        signals.incident_restored.connect(services.on_incident_restored, dispatch_uid="reviews.open_pir")
        policy.register_close_guard(services.incident_close_unmet)
        incident_selectors.register_category_provider(selectors.incident_factor_categories)
