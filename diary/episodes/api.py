from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from diary.accounts.request_user import request_user
from diary.core.api import IsDiaryOwner, json_object
from diary.core.openapi import ERRORS, ErrorSerializer, spec_serializer
from diary.core.pagination import DiaryCursorPagination
from diary.episodes import selectors, services
from diary.episodes.filters import EpisodeFilter
from diary.episodes.models import Episode
from diary.episodes.render import REST_COLUMNS, episode_row_to_rest, episode_to_rest
from diary.episodes.spec import EPISODE

_ID_FIELD = {"id": serializers.RegexField(r"^[A-Za-z0-9_-]{1,36}$", required=False, help_text="client-generated id")}
EpisodeIn = spec_serializer(EPISODE, "EpisodeIn", for_input=True, extra=_ID_FIELD)
EpisodeOut = spec_serializer(
    EPISODE,
    "Episode",
    for_input=False,
    extra={
        "id": serializers.CharField(),
        "local_date": serializers.DateField(help_text="the day in the episode's own zone"),
    },
)
_CONFLICT = {409: OpenApiResponse(ErrorSerializer, description="an episode with this id exists")}


class EpisodePagination(DiaryCursorPagination):
    ordering = ("-started_at", "-id")


class EpisodeCollectionApi(generics.GenericAPIView[Episode]):
    permission_classes = [IsDiaryOwner]
    serializer_class = EpisodeOut
    pagination_class = EpisodePagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EpisodeFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema's filter parameters: no person
            return Episode.objects.none()
        return selectors.episodes_live(user=request_user(self.request))

    @extend_schema(responses={200: EpisodeOut(many=True), **ERRORS}, summary="List episodes, newest first")
    def get(self, request: Request) -> Response:
        # Rows as values, rendered as they come: no model instance per row.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values(*REST_COLUMNS))
        return self.get_paginated_response([episode_row_to_rest(row) for row in page or ()])

    @extend_schema(request=EpisodeIn, responses={201: EpisodeOut, **ERRORS, **_CONFLICT}, summary="Log an episode")
    def post(self, request: Request) -> Response:
        episode = services.episode_create(user=request_user(request), data=json_object(request))
        return Response(episode_to_rest(episode), status=201, headers={"Location": f"/api/v1/episodes/{episode.uid}"})


class EpisodeDetailApi(generics.GenericAPIView[Episode]):
    permission_classes = [IsDiaryOwner]
    serializer_class = EpisodeOut
    lookup_field = "uid"

    def get_queryset(self) -> Any:
        # Scoped to the person: another person's id is simply not found (404, never 403).
        return selectors.episodes_live(user=request_user(self.request))

    @extend_schema(responses={200: EpisodeOut, **ERRORS})
    def get(self, request: Request, uid: str) -> Response:
        return Response(episode_to_rest(self.get_object()))

    @extend_schema(
        request=EpisodeIn,
        responses={200: EpisodeOut, 201: EpisodeOut, **ERRORS},
        summary="Create or replace an episode (idempotent)",
    )
    def put(self, request: Request, uid: str) -> Response:
        episode, created = services.episode_put(user=request_user(request), uid=uid, data=json_object(request))
        return Response(episode_to_rest(episode), status=201 if created else 200)

    @extend_schema(request=EpisodeIn(partial=True), responses={200: EpisodeOut, **ERRORS})
    def patch(self, request: Request, uid: str) -> Response:
        episode = services.episode_patch(user=request_user(request), uid=uid, data=json_object(request))
        return Response(episode_to_rest(episode))

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, uid: str) -> Response:
        services.episode_delete(user=request_user(request), uid=uid)
        return Response(status=204)
