/* bcryptprimitives.dll with the one function Rust's standard library imports from it,
   ProcessPrng, which Wine 8 lacks (later Wine has it). It fills the buffer from
   RtlGenRandom (advapi32's SystemFunction036), as Windows' own ProcessPrng draws from
   the system generator. Built by scripts/cross-check for the Windows unit tests under
   Wine; never shipped. */
#include <windows.h>

typedef BOOLEAN(WINAPI *gen_random_fn)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    static gen_random_fn gen_random;
    if (!gen_random) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (!advapi) return FALSE;
        gen_random = (gen_random_fn)GetProcAddress(advapi, "SystemFunction036");
        if (!gen_random) return FALSE;
    }
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!gen_random(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
