"""HPRIM Santé 2.x: the record-based lab format derived from ASTM E1238.

Records ``H`` (header, with the delimiters), ``P`` (patient), ``OBR`` (request), ``OBX``
(result), ``C`` (comment), ``A`` (continuation of the previous line), ``L`` (end). This
module is the public surface: parse, validate, generate (``build_oru`` + ``to_hprim_sante``).
"""

from caducee.formats.hprim_sante_message import HPRIMSanteMessage, read_timestamp
from caducee.formats.hprim_sante_model import (
    HPRIMSanteDelimiters,
    HPRIMSanteObservation,
    HPRIMSanteOrder,
    HPRIMSantePatient,
    HPRIMSanteRecord,
    escape,
    unescape,
)
from caducee.formats.hprim_sante_parse import (
    MAX_LINE,
    parse_hprim_sante,
    read_delimiters,
    validate_hprim_sante,
)
from caducee.formats.hprim_sante_write import build_oru, to_hprim_sante

__all__ = [
    "MAX_LINE",
    "HPRIMSanteDelimiters",
    "HPRIMSanteMessage",
    "HPRIMSanteObservation",
    "HPRIMSanteOrder",
    "HPRIMSantePatient",
    "HPRIMSanteRecord",
    "build_oru",
    "escape",
    "parse_hprim_sante",
    "read_delimiters",
    "read_timestamp",
    "to_hprim_sante",
    "unescape",
    "validate_hprim_sante",
]
