from rest_framework.routers import SimpleRouter

from reviews.api import views

router = SimpleRouter()
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("actions", views.ActionViewSet, basename="action")
router.register("contributing-factors", views.FactorViewSet, basename="contributing-factor")
router.register("factor-categories", views.FactorCategoryViewSet, basename="factor-category")

urlpatterns = router.urls
