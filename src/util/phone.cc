// SPDX-License-Identifier: AGPL-3.0-or-later
// The extern "C" wrapper of libphonenumber: see phone.h. No exception may
// cross into C, so everything is inside one try block.
#include "util/phone.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>

#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Longest input worth parsing; real numbers are far shorter.
static const size_t PHONE_INPUT_MAX = 64;

extern "C" int
phone_parse(const char *country, const char *number, struct phone_number *out)
{
    try {
        PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        PhoneNumber pn;
        std::string region = "ZZ"; // unknown: the number must start with +
        std::string e164;
        std::string intl;
        PhoneNumberUtil::PhoneNumberType type;

        std::memset(out, 0, sizeof(*out));
        if (number == nullptr || std::strlen(number) > PHONE_INPUT_MAX)
            return -1;
        if (country != nullptr && country[0] != '\0') {
            if (std::strlen(country) != 2)
                return -1;
            region.clear();
            for (const char *c = country; *c != '\0'; c++)
                region += static_cast<char>(
                    std::toupper(static_cast<unsigned char>(*c)));
        }
        if (util->Parse(number, region, &pn) !=
                PhoneNumberUtil::NO_PARSING_ERROR ||
            !util->IsValidNumber(pn))
            return -1;
        util->Format(pn, PhoneNumberUtil::E164, &e164);
        util->Format(pn, PhoneNumberUtil::INTERNATIONAL, &intl);
        if (e164.size() < 2 || e164[0] != '+' ||
            e164.size() - 1 >= sizeof(out->msisdn) ||
            intl.size() >= sizeof(out->intl))
            return -1;
        std::snprintf(out->msisdn, sizeof(out->msisdn), "%s", e164.c_str() + 1);
        std::snprintf(out->intl, sizeof(out->intl), "%s", intl.c_str());
        out->country_code = pn.country_code();
        type = util->GetNumberType(pn);
        out->premium_rate = type == PhoneNumberUtil::PREMIUM_RATE ||
                            type == PhoneNumberUtil::SHARED_COST;
        return 0;
    } catch (...) {
        return -1;
    }
}
