"""``python -m crimeassess``: the ``crimeassess`` program (see :mod:`crimeassess.program`)."""
from crimeassess.program import main

main()
