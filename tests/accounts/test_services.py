"""The account services, called directly as commands and other apps will."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_register_user_stores_a_lower_case_email_and_a_hashed_password() -> None:
    user = services.register_user(email="Lin@Example.COM", password=PASSWORD, display_name=" Lin ", time_zone="UTC")

    user.refresh_from_db()
    assert user.email == "lin@example.com"
    assert user.display_name == "Lin"
    assert user.password != PASSWORD
    assert user.check_password(PASSWORD)


def test_register_user_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(ValidationError):
        services.register_user(email="lin@example.com", password=PASSWORD, display_name="", time_zone="Nowhere/City")
    assert not User.objects.exists()


def test_register_user_refuses_a_weak_password() -> None:
    with pytest.raises(ValidationError):
        services.register_user(email="lin@example.com", password="123", display_name="", time_zone="UTC")
    assert not User.objects.exists()


def test_update_profile_changes_the_login_email_name_and_time_zone() -> None:
    user = make_user()

    services.update_profile(user=user, email="New@Example.com", display_name="Ada L.", time_zone="Asia/Tokyo")

    user.refresh_from_db()
    assert (user.email, user.display_name, user.time_zone) == ("new@example.com", "Ada L.", "Asia/Tokyo")


def test_delete_account_removes_only_that_user() -> None:
    user = make_user()
    other = make_user(email="other@example.com")

    services.delete_account(user=user)

    assert list(User.objects.all()) == [other]


def test_every_model_that_points_at_a_user_is_deleted_with_the_account() -> None:
    # delete_account relies on the database cascade: a new model with SET_NULL or PROTECT on
    # the user would silently keep (or block deleting) a person's data.
    from django.apps import apps
    from django.db import models

    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey | models.OneToOneField) and field.related_model is User:
                assert field.remote_field.on_delete is models.CASCADE, f"{model.__name__}.{field.name}"
