"""HPRIM médecin: the lab→GP text format carried by APICRYPT and e-mail.

A file holds documents, each a 12-line header (patient id, name, first name, address 1 and 2,
``CP VILLE``, birth date, NIR, file number, exam date, sender, recipient), free text and an
optional ``****LAB****`` part of ``TEX|`` and ``RES|`` lines, ended by ``****FIN****``; the
file ends with ``****FINFICHIER****``. This module is the public surface.
"""

from caducee.formats.hprim_model import (
    HEADER_FIELDS,
    RESULT_FIELDS,
    HPRIMDocument,
    HPRIMHeader,
    HPRIMLabLine,
    HPRIMResult,
    HPRIMText,
)
from caducee.formats.hprim_parse import FIN, FINFICHIER, LAB, parse_hprim, validate_hprim
from caducee.formats.hprim_write import to_hprim
from caducee.formats.problems import Problem, Severity

__all__ = [
    "FIN",
    "FINFICHIER",
    "HEADER_FIELDS",
    "LAB",
    "RESULT_FIELDS",
    "HPRIMDocument",
    "HPRIMHeader",
    "HPRIMLabLine",
    "HPRIMResult",
    "HPRIMText",
    "Problem",
    "Severity",
    "parse_hprim",
    "to_hprim",
    "validate_hprim",
]
