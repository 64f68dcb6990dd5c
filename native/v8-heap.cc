// The one call into V8's own API: Node-API has no way to ask for a memory-reducing GC, and
// --expose-gc's gc() is a plain full GC that leaves the young generation as large as start-up
// made it. LowMemoryNotification collects everything it can and shrinks the heap, as V8's
// memory reducer would (which ringmaster switches off: src/pid1/v8-flags.ts).
#include <v8.h>

extern "C" void ringmaster_low_memory_notification(void) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
}
