"""The session's user, loaded with their role in the same query.

Every page asks for the role (`User.may`, the data scope, the shell's identity): with
Django's `ModelBackend` that is a second query on every request. Sessions opened through
`django.contrib.auth.backends.ModelBackend` (listed after this one in the settings) keep
working as they were."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ModelWithRoleBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("role").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    async def aget_user(self, user_id):
        user_model = get_user_model()
        try:
            user = await user_model._default_manager.select_related("role").aget(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
