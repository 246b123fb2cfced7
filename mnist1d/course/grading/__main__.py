"""``python -m mnist1d.course.grading``: :func:`grader.main`."""

from .grader import main

main()
