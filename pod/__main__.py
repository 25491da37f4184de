"""`python -m pod` runs the same CLI as the `pod` console script."""

from pod.entry import main

main()
