"""Fixtures of the portal tests (star-imported by each test module), on top of
`anju.aftersales.care.testing`:

- `owners`: owner accounts of units 7-101 (`a`) and 7-102 (`b`) of the `estate`, with
  password "portal-pass-2026".
- `owner_client(account)`: a browser signed in to the portal as that owner.
"""

import pytest
from django.test import Client

from anju.aftersales.care.testing import *  # noqa: F403
from anju.portal.auth import COOKIE_NAME, owner_sign_in
from anju.portal.services import owner_account_create

PASSWORD = "portal-pass-2026"


@pytest.fixture
def owners(estate):
    return {
        "a": owner_account_create(customer=estate["owners"]["7-101"], password=PASSWORD),
        "b": owner_account_create(customer=estate["owners"]["7-102"], password=PASSWORD),
    }


def sign_in(client: Client, account) -> Client:
    from django.http import HttpRequest, HttpResponse

    request, response = HttpRequest(), HttpResponse()
    owner_sign_in(request, response, account)
    client.cookies[COOKIE_NAME] = response.cookies[COOKIE_NAME].value
    return client


@pytest.fixture
def owner_client():
    def make(account, **kwargs) -> Client:
        return sign_in(Client(**kwargs), account)

    return make
