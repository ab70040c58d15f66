app_name = "property"

urlpatterns: list = []
