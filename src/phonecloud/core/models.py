"""Every domain's tables in one MetaData, for migrations and for tests that build a schema."""

from phonecloud.accounts import models as _accounts  # noqa: F401  (registers the tables)
from phonecloud.core.db import Base
from phonecloud.gallery import models as _gallery  # noqa: F401

metadata = Base.metadata
