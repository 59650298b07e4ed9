"""The JSON API: one router per resource, all behind a staff login."""

from fastapi import APIRouter

router = APIRouter()
