"""
Test double of LMSAccountRetirementView.post (openedx/core/djangoapps/user_api/accounts/views.py):
the same signal sends and the same error handling, without DRF. Returns (HTTP status, body);
as in the real view, a 500's body is str(exc), which the driver stores in the learner's row.
"""

from ..models import RetirementStateError, UserRetirementStatus
from .signals import USER_RETIRE_LMS_MISC, USER_RETIRE_MAILINGS


class LMSAccountRetirementView:
    def post(self, username):
        try:
            retirement = UserRetirementStatus.get_retirement_for_retirement_action(username)
            # ... RevisionPluginRevision.retire_user(...) etc. in the real view ...
            USER_RETIRE_LMS_MISC.send(sender=self.__class__, user=retirement.user)
            USER_RETIRE_MAILINGS.send(
                sender=self.__class__,
                email=retirement.original_email,
                new_email=retirement.retired_email,
                user=retirement.user,
            )
        except UserRetirementStatus.DoesNotExist:
            return 404, ""
        except RetirementStateError as exc:
            return 400, str(exc)
        except Exception as exc:  # pylint: disable=broad-except
            return 500, str(exc)
        return 204, ""
