"""Every table in one MetaData, for migrations and for tests that build a schema: the server's own domains
and every registered kind's (importing a kind's module registers its tables)."""

from phonecloud.accounts import models as _accounts  # noqa: F401  (registers the tables)
from phonecloud.core.db import Base
from phonecloud.jobs import models as _jobs  # noqa: F401
from phonecloud.notices import models as _notices  # noqa: F401
from phonecloud.plans import models as _plans  # noqa: F401
from phonecloud.regions import models as _regions  # noqa: F401
from phonecloud.retirement import models as _retirement  # noqa: F401
from phonecloud.portability import models as _portability  # noqa: F401
from phonecloud.server import kinds as _kinds  # noqa: F401
from phonecloud.uploads import models as _uploads  # noqa: F401

metadata = Base.metadata
