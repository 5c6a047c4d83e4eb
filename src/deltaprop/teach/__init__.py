r"""Teaching backpropagation: every number of one pass, a hand computation checked, homework set and graded.

========================  ==================================================================
module                    what it holds
========================  ==================================================================
``notation``              the four notations (seeds, cs189, nielsen, higham) as one table
``explain``, ``render``   every quantity of one forward and backward pass; text/Markdown/LaTeX
``check``, ``slips``      a student's numbers against the right ones; the catalogue of slips
``report``, ``written``   check's findings as text; the tolerance of the digits a student wrote
``impl``, ``conventions`` ``check --impl``: a student's backprop code on random networks, in four
``sandbox``               calling conventions, run in a child process with time and memory limits
``key``, ``assignment``,  the exact answer key of a pass; one problem per student seeded by the id;
``grade``                 a folder of answers graded, with partial credit for errors carried forward
========================  ==================================================================

Built on the core (``network``, ``activations``, ``costs``, ``gradcheck``); nothing below the
command line imports this package.
"""

from .check import CheckReport, check, load_answers
from .explain import Explanation, explain
from .notation import NOTATIONS, get_notation, read_network
from .render import render

__all__ = ["NOTATIONS", "CheckReport", "Explanation", "check", "explain", "get_notation", "load_answers",
           "read_network", "render"]
