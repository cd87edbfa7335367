"""The national sync format, read as the one-stop systems already send it to Cổng DVCQG: dossier
items (`DongBoHoSoMC`), processing steps (`CapNhatTienDoHoSoMC`), alone or in the adapter's
envelope. Each becomes contract events (`shared.events` validates them like any other)."""

from shared.national.items import Translated
from shared.national.records import Part, is_national, read_national
from shared.national.values import NationalSyncError

__all__ = ["NationalSyncError", "Part", "Translated", "is_national", "read_national"]
