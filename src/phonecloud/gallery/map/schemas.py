"""The map's answers (GET /api/v1/map/clusters)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class BoundsOut(BaseModel):
    west: float
    south: float
    east: float
    north: float


class ClusterOut(BaseModel):
    count: int = Field(description="Photos and videos in the cluster; 1: the cluster is that photo")
    latitude: float = Field(description="The mean of its places (a single photo's own place)")
    longitude: float
    bounds: BoundsOut = Field(description="The smallest box holding all of its places")
    asset_id: uuid.UUID = Field(description="Its newest photo or video (the photo itself for a cluster of one): "
                                "its thumbnail stands for the cluster")
    kind: str = Field(description="That item's kind: photo or video")


class ClustersOut(BaseModel):
    zoom: int
    cell_px: int = Field(description="The side of a cluster's cell, in pixels at that zoom (Web Mercator, "
                         "256-pixel tiles)")
    total: int = Field(description="Photos and videos in the box: the sum of the counts")
    clusters: list[ClusterOut] = Field(description="Row by row from the north, west to east")
