"""The JSON client the API tests speak through, so every test file sends requests the same way."""

import json

from django.test import Client

from accounts import services as account_services

API = "/api/v1"


class JsonApi:
    """A JSON client for one caller, with a session (a logged-in `Client`) or a Bearer token (`headers`).

    Paths are relative to /api/v1. A body is sent as JSON, `{}` when none is given, so a test of a
    missing field sends exactly what it means to.
    """

    def __init__(self, client: Client, headers: dict | None = None):
        self.client = client
        self.headers = headers or {}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"{API}{path}", params or {}, headers=self.headers)

    def _send(self, method: str, path: str, data):
        body = json.dumps(data if data is not None else {})
        return getattr(self.client, method)(f"{API}{path}", body, content_type="application/json", headers=self.headers)

    def post(self, path: str, data=None):
        return self._send("post", path, data)

    def put(self, path: str, data=None):
        return self._send("put", path, data)

    def patch(self, path: str, data=None):
        return self._send("patch", path, data)

    def delete(self, path: str):
        return self.client.delete(f"{API}{path}", headers=self.headers)

    def upload(self, path: str, data: dict):
        """A multipart POST, for endpoints that take files."""
        return self.client.post(f"{API}{path}", data, headers=self.headers)


def bearer_api(raw: str, client: Client | None = None) -> JsonApi:
    """A client that sends the raw token `raw` (a personal or an integration token)."""
    return JsonApi(client or Client(), {"Authorization": f"Bearer {raw}"})


def token_api(user, client: Client | None = None, name: str = "test") -> JsonApi:
    """A client with a fresh personal API token of `user`."""
    _, raw = account_services.create_api_token(user=user, name=name)
    return bearer_api(raw, client)


def session_api(user) -> JsonApi:
    """A client logged in as `user` through the session, as a browser's script would be."""
    client = Client()
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return JsonApi(client)


def post_json(client: Client, url: str, data, **kwargs):
    """POST `data` as JSON to a full `url` with a plain test client (`headers=` and the like pass through)."""
    return client.post(url, data=json.dumps(data), content_type="application/json", **kwargs)


def patch_json(client: Client, url: str, data, **kwargs):
    """PATCH `data` as JSON to a full `url` with a plain test client."""
    return client.patch(url, data=json.dumps(data), content_type="application/json", **kwargs)
