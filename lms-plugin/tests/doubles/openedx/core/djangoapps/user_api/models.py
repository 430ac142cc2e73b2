"""
Test double of the retirement models of openedx/core/djangoapps/user_api/models.py.

Same model and field names as edx-platform (RetirementState, UserRetirementStatus with
TimeStampedModel's created/modified); behaviour reduced to what the retirement views use.
"""

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

User = get_user_model()


class RetirementStateError(Exception):
    pass


class RetirementState(models.Model):
    state_name = models.CharField(max_length=30, unique=True)
    state_execution_order = models.SmallIntegerField(unique=True)
    is_dead_end_state = models.BooleanField(default=False, db_index=True)
    required = models.BooleanField(default=False)

    class Meta:
        app_label = "user_api"
        ordering = ("state_execution_order",)


class UserRetirementStatus(models.Model):
    # TimeStampedModel fields (django-model-utils)
    created = models.DateTimeField(default=timezone.now, editable=False)
    modified = models.DateTimeField(auto_now=True)

    user = models.OneToOneField(User, on_delete=models.CASCADE)
    original_username = models.CharField(max_length=150, db_index=True)
    original_email = models.EmailField(db_index=True)
    original_name = models.CharField(max_length=255, blank=True, db_index=True)
    retired_username = models.CharField(max_length=150, db_index=True)
    retired_email = models.EmailField(db_index=True)
    current_state = models.ForeignKey(RetirementState, on_delete=models.CASCADE, related_name="current_state")
    last_state = models.ForeignKey(
        RetirementState, on_delete=models.CASCADE, blank=True, related_name="last_state"
    )
    responses = models.TextField()

    class Meta:
        app_label = "user_api"
        verbose_name = "User Retirement Status"
        verbose_name_plural = "User Retirement Statuses"

    @classmethod
    def get_retirement_for_retirement_action(cls, username):
        retirement = cls.objects.get(original_username=username)
        if retirement.original_username != username:  # MySQL collation is case-insensitive
            raise cls.DoesNotExist()
        state = retirement.current_state
        if state.required or state.state_name.endswith("_COMPLETE"):
            raise RetirementStateError(f"{state.state_name} is not a working state")
        return retirement
