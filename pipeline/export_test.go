package pipeline

// PoisonReleased tells the tests whether released memory is overwritten.
const PoisonReleased = poisonReleased
