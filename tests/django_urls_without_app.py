"""A URLconf that forgot the app: the system check must say so (SPEC W4)."""

urlpatterns: list[object] = []
